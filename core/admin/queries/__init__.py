"""What the dashboard reads: each module a page's questions to the database, a fixed, small number
of queries whatever the size of the tables (the overview's figures in `overview`, conversations,
knowledge gaps, answers that look wrong, satisfaction, cases and the outbox in `operations`, the
Status page's facts, the re-index schedule), and how a contact and a period are named."""

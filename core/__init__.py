"""supporthub's core, in wings. This docstring is the map; `tests/unit/test_boundaries.py`
holds the house to it.

Floors, top to bottom; a module imports only from its own floor and the floors below it:

    core.cli, core.admin, channels   the faces: commands, the dashboard, the channel adapters,
    core.sandbox, core.rehearsals    the sandbox with its platform stand-ins, and rehearsals
    core.ops                         running the hub: wiring, leadership, jobs, metrics, logs
    core.pipeline                    one message's way: receive → persist → answer → deliver
    core.handoff                     when a person takes over: policy, cases, the staff desk
    core.store                       the database: schema, engine, migrations, the stores
    core.answering                   what the bot says: agent, responders, decision, memory
    core (this package's modules)    the contract every wing speaks
    knowledge                        a library: ingest, chunking, index, search

The contract (directly in core/):
    messages      what travels: inbound messages, replies, addresses, attachments
    channel       the ports between a channel adapter and the hub; Capabilities
    desk_port     the port between core.handoff and a staff desk (the Slack desk implements it), and
                  StaffMail (a channel that can mail the staff: the email channel)
    streaming     an answer shown while it is written
    turn_context  what one turn knows (signals, facts, files) as the agent reads it; a person offered
                  or where to reach the team (person_or_reach)
    settings      the one settings object: a TOML file plus SUPPORTHUB_* variables
    action_settings  the operator's actions: their declarations, checked at start-up
    registry      channels found through the `supporthub.channels` entry points
    channel_plugins  each installed channel's class, loaded once; one whose optional library
                  (an extra such as `supporthub[discord]`) is missing is left out, saying so
    metrics       the Prometheus metrics every wing counts into
    log_context   the ids a log line carries (request, conversation, message)
    clean_text    text from outside made storable where it enters
    quoting       how a quoted passage is cut and marked
    file_sizes    how sizes are shown to customers
    languages     the catalogs of the hub's own sentences (`_`, `N_`) and the language spoken now
    placeholders  a catalog sentence's `{names}`: plain names only, a translation's fit, filled by lookup
    bidi          a name a customer gave shown to staff as given: direction controls visible, isolated
    request_bodies  a request's body read whole, never past what its route takes (webhooks, the API, the
                  knowledge API)
    rate_limits   the hub's rate limits, in Redis when several processes share them (channels count by them)
    memory_windows  the rate limits' moving windows in this process's memory, when no Redis is set
    markdown_tree the one markdown parse every reply is rendered from (replies are CommonMark with tables)
    markdown_html a reply's markdown as safe HTML: a mail's HTML part, a reply on the dashboard
    invariants    InvariantError and present(): what the code guarantees, checked in production too

core.store: db (schema, engine), migrations/, case_tables (the cases, their events, canned replies and
    survey ratings: handoff's, which only handoff changes; here so the stores that show a
    conversation can join its case), transactions (one transaction from async code),
    contacts, inbox, outbox_queue, held_replies (replies a platform takes only once the customer
    writes again: WhatsApp's 24-hour rule), conversation_views, channel_state (delivered parts, opt-outs,
    delivery statuses), channel_values (each channel's own key-value store), feedback, dead_letters,
    calibrations (the operator's answer bar, per knowledge collection), action_calls (the audit
    trail of actions; the verified identity actions are given), staff (people's accounts,
    their server-side sessions, the audit trail of what they did), roles (staff roles, apart
    from the schema for the command line), suggestions (what staff
    answered, reviewed before it becomes knowledge through knowledge.ingest.written), rehearsal_runs
    (the rehearsals' runs and each rehearsal's turns, for the dashboard).
core.answering: agent, offline_responder, llm_responder, answer_decision, calibration (the bar
    learned from labelled questions), language (which language a customer writes in), questions, small_talk, quoted_tables, memory, sentiment,
    attachments, answer_eval, answer_explain, lookalikes (text as a reader sees it), personal_data (what to redact before a suggestion
    goes live), actions/ (calls into the company's own systems: calls, http_call (the one safe way
    out), catalog, phrasing + slots (offline: which action, its parameters), results, built_in
    (the customer's own cases), flow (ask, confirm, call, audit)).
core.pipeline: hub (the port channels call; one message's turn), conversation_workers (answers in
    conversation order, across processes too), sweeper (what a dead process left), turn_runner,
    turn_transactions, storage (the stores on one engine),
    outbox (delivery), notifications (the wake-up between processes), pulse (a
    beat on every change, for what shows conversations live), staffing (whether a person can
    come: a Slack desk, or the inbox with someone on the staff).
core.ops: runtime (wiring), leadership, scheduler, reindex_process (a re-index in a child process),
    glibc_malloc (serve's allocator: fewer arenas, freed memory handed back),
    metrics_endpoint + metrics_snapshot, logs, readiness, privacy, access (who may open /admin:
    staff sessions and the admin token), passwords (argon2),
    client_address, request_guards.
core.cli: main (the `supporthub` group), support (what commands share), server (the aiohttp
    application: channels, admin, /metrics on one runtime), knowledge_commands,
    outbox_commands, case_commands, doctor_command + doctor (its checks), terminal (a channel whose
    replies are read, not pushed: ask, chat, rehearsals), exposure, data_dir,
    settings_reference (the docs' settings page, written from the settings models), sandbox_command,
    reindex_child (the child process a server's re-index runs in, through the rehearsals' gate), rehearse_command,
    staff_commands (`supporthub staff invite|list|remove`). A command imports what it needs when
    it runs: `supporthub --help` loads no settings, database or model.
core.admin: the dashboard at /admin, in three rooms: app (its routes and sign-in); views/ (pages and
    their JSON twins: pages, staff (people and the audit trail), replies (canned replies),
    suggestions (reviewing what staff answered; answering a knowledge gap in place),
    action_calls (the declared actions and the audit trail of their calls), rehearsals (the
    rehearsals' last run, turn by turn), knowledge_api (a
    help centre pushes or withdraws an article: /api/knowledge/documents, behind the admin
    token), dashboard (what every view is given: the runtime, a page, the form, and `act`, the one
    way a staff action is written: its transaction and audit line, refusals as the page again or
    as text, JSON or a redirect), render, charts); queries/ (what the pages read: overview,
    conversations, gaps, wrong_answers (answers the customer's next move says were wrong),
    satisfaction (survey scores, resolution rate), operations, status, schedule, periods,
    contact_labels, rehearsals (the rehearsals' runs, since which change each fails)); inbox/ (the staff desk in the browser: views, queries, live through
    server-sent events).
core.handoff: policy, cases, customer_cases (a customer's own cases, for the built-in actions), desk + desk_store (the chat-platform desk through the desk port),
    inbox_store (the inbox's replies, notes, assignments), canned, survey, hours (business
    hours and the SLA clock), reach (where a customer can reach the team when no desk takes
    cases), translations (with an LLM: customers' messages for staff, staff replies into the
    customer's language), waiting (the staff mailed when a customer waits with nobody signed in).
core.sandbox: the sandbox page `supporthub sandbox` serves (session, page), the pane a channel
    brings to it (pane: found through the channel's entry point, a plug-in's too) and the one
    base of the platforms' stand-ins on 127.0.0.1 (stand_in). The stand-ins, which the tests run
    the adapters against too, live beside their channel (channels/<name>/stand_in.py, its pane
    in channels/<name>/sandbox.py).
core.rehearsals: test conversations a support team writes, run before a change goes live
    (`supporthub rehearse`): script (the YAML file), checks (what a turn must show), runner (a
    throwaway hub: its own database, nothing delivered), company_stand_in (the company's systems
    as a rehearsal's actions reach them), wordings (a turn's other wordings), drafts (*Rehearse
    this* on a conversation or a knowledge gap), gate (every re-index rehearsed before it goes
    live: `knowledge.rehearsal_gate`), records (each run kept for the dashboard's rehearsals page).
"""

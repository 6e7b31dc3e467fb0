"""What the bot says: the agent and its responders (offline and LLM), the answer-or-decline
decision, questions and small talk, memory, sentiment and the files a customer sends; `actions`,
the calls into the company's own systems."""

"""Human handoff: the escalation policy, cases and the staff desk (not built yet).

Today the offline responder only flags a reply with `handoff=True` when it has nothing
relevant to say; opening a case and handing the conversation to a person come next.
"""

"""Actions: the bot looks things up and does things in the company's own systems.

calls (what a call is made of, and how it fails), http_call (the one way out: listed hosts
only, no private addresses unless listed by name, capped), catalog (the operator's actions,
ready to call: arguments checked, identity filled in by the hub), phrasing (which action a
message asks for, without an LLM), slots (its parameters from the message and memory, yes or
no), results (an answer shown as text, lists and tables), flow (one turn with actions:
asking for what is missing, confirming a write, calling, auditing), built_in (the customer's
own cases).
"""

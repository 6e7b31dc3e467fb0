"""Rehearsals: test conversations a support team writes, run through the hub's real answering
path before a change goes live (`supporthub rehearse`, docs/rehearsals.md).

    script            the rehearsal file (YAML): customer turns and what must hold after each
    checks            what one turn produced (`TurnOutcome`) and which expectations fail
    runner            a throwaway hub (its own database, nothing delivered) that runs them
    company_stand_in  the company's systems as a rehearsal's actions reach them: never the live ones
    wordings          other wordings of each turn (a typo, a preamble, a shorter form; an LLM's paraphrases)
    drafts            a rehearsal drafted from a conversation or a knowledge gap (*Rehearse this*)
    gate              every re-index rehearsed before it goes live (`knowledge.rehearsal_gate`)
"""

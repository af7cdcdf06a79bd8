"""The case file beside the lifecycle (卷宗): contacts with the complainant, evidence files and
rectification items (states/casefile.py has their codes and rules).

Rooms: `history.py` (the non-state event each record appends to the complaint's history),
`contacts.py`, `evidence.py` (with `evidence_store.py`, the encrypted files), `rectification.py`.
They call services/lifecycle/ and storage/, never the automatic side, cli/, flows/ or
notifications/; nothing in services/lifecycle/ imports them.
"""

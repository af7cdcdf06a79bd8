"""The use cases: one function per action, one transaction each, shared by cli/ and flows/.

Arrows point one way: cli/flows → services → states + storage.
"""

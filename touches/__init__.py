"""Touches: one marketing interaction of one person, recorded in the hub by one function.

``record`` writes them (idempotent by natural key, through the ORM so ``change_seq`` moves);
``utm`` cleans their UTM values; ``programs`` reads channels and member statuses
(``mappings/programs.yaml``); ``members`` turns campaign responses into touches; ``importer``
loads a file of them.
"""

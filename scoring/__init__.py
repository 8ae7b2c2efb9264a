"""Lead scoring: the rules file (``mappings/scoring.yaml``) and a pure engine that applies it."""

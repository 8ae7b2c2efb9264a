"""The Mappings section: view, preview, edit (saved back as YAML text) and history."""

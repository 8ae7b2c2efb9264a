"""The Salesforce sandbox: a local emulator of the Salesforce REST API with fault injection."""

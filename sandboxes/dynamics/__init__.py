"""The Dataverse (Dynamics 365) sandbox: a local Web API v9.2 emulator with fault injection."""

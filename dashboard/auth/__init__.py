"""Dashboard accounts: log in and out, who is asking, and what their role lets them do."""

from dashboard.auth.guard import admin_required, current_user

__all__ = ["admin_required", "current_user"]

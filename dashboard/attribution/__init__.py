"""Attribution pages: models side by side per campaign or channel, a campaign's deals, a deal."""

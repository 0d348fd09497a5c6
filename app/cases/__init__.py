"""GBV case management: survivors, consent, incidents, assessment, plans, notes, closure."""

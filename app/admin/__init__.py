"""Administration: accounts, organisations, sites, safe spaces and the service directory."""

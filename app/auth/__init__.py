"""Identity: users, passwords, MFA, server-side sessions and the access policy."""

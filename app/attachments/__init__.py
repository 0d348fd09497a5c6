"""Files attached to a case (scanned consent forms, thumbprints, certificates, reports), sealed
under the case's key, and the copies a referral shares, sealed under the referral's key."""

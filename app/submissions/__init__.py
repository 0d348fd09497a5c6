"""One-time submission tokens: a retried create shows the record already made instead of a copy.

Every form whose POST creates a record carries a hidden token (``app.forms.OneTimeSubmission``),
issued when the form is rendered and bound by a MAC to the user, the form's kind and, for
records inside a case, the case. The create claims the token in its own transaction
(``service.claim``): a row keyed by the token's SHA-256 digest names the record made. A second
POST of the same form finds the claim and is sent to that record; a failed create rolls its
claim back with it, so the form can be corrected and sent again with the same token.
"""

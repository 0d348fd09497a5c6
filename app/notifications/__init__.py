"""In-app notifications: who must look at what, by kind and record id only.

A notification names a kind (``kinds.Kind``) and a record (case or referral) by id. Its text is
built when it is shown, from the kind and the reference the reader may see now (a case number
for caseworkers, a referral reference for providers), never from anything stored with it: no
name, narrative or note can be in a notification, and a notification about a record the reader
can no longer open (reassigned, revoked, erased) is dropped instead of shown.

Features create notifications with ``service.notify`` in the transaction of the change they
announce; this package imports no feature (they tell it where a record opens through
``hooks.notification_targets``).
"""

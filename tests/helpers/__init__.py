"""What the tests share, one module per concern (import from the module, not from here):

- ``apps``: test apps and databases (``make_app``, ``production_app``, the frozen ``Clock``,
  the back end in use, PostgreSQL admin statements);
- ``login``: the world's password and ``Auth``, which logs test clients in;
- ``codes``: two-step codes (at the frozen clock's time, or now for the browser tests);
- ``forms``: the tokens and hidden inputs a browser sends back with a form;
- ``factories``: the test world (organisations, sites, accounts, cases) and its canaries;
- ``accounts``, ``cases``, ``safe_space``: posting the admin, case and safe-space forms;
- ``audit``, ``crypto``, ``roles``, ``routes``, ``cli``, ``browser``: the pieces the audit,
  encryption, database-role, route-matrix, command-line and browser tests share.

No test module imports another test module (``tests/test_test_layout.py`` fails if one does).
"""

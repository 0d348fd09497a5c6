"""Women and Girls Safe Spaces: activity types, session logs (attendance as counts only) and
monthly summaries."""

"""Programme activity logs: community awareness sessions and staff trainings (counts only,
never names), and their counts as tables of the publication grid for the impact figures."""

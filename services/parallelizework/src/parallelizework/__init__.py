"""Fan-out, fan-in: one invocation per subtask, all in flight at once, results gathered."""

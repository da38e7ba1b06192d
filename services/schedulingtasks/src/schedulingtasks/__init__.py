"""Scheduling tasks: payment reminders with durable timers on a virtual object."""

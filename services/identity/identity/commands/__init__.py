"""Use cases of identity: functions taking the dependencies they need plus plain arguments."""

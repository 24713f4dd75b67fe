"""Reference data shipped with the platform and loaded when the app starts."""

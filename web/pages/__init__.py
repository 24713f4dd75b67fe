"""The pages, one package or module per area of the menu. Each module holds one blueprint."""

// Entry point of the panels below the cell view (DOM glue).

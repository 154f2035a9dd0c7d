// Share links on the savings page (placeholder until the UI lands).

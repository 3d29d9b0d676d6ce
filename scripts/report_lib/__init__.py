"""Report builders that train in the harness's headless Chromium and print tables (not shipped)."""

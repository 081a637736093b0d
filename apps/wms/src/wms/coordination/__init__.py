"""Cross-system coordination in WMS: error orchestration, performance, security, configuration."""

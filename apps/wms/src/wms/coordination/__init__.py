"""WMS's coordination streams: error orchestration, performance, security, configuration."""

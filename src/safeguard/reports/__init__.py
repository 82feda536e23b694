"""Reports from cases: NCMEC CyberTipline XML, the UK NCA payload, transparency statistics."""

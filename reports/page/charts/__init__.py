"""The report's charts, one module per family; `base` holds the `Chart` type, SVG output, the style,
palettes and axis helpers they share."""

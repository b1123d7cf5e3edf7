public enum LayersPlaceholder {}

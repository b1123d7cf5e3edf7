public enum PuzzlesPlaceholder {}

public enum HRMPlaceholder {}

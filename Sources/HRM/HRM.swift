// The HRM model and its training arrive with issue #3 (see README.md in this folder).
// This file only declares the module so the package's layering is in place.
@_exported import Layers

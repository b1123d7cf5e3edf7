// Sudoku, mazes, ARC and the reference's dataset files arrive with issue #4 (see README.md).
// This file only declares the module so the package's layering is in place.
import Foundation

import Foundation
import Puzzles
import Reasoning
import Training

/// One solve as a self-contained HTML page (`hrm view`, `hrm solve --html`, `hrm demo`): the
/// puzzle, the model's grid after every ACT step with the cells that changed marked and each
/// cell shaded by the model's confidence, the Q head's halt signal over the steps, and the
/// verifier's verdict. Sudokus, mazes (the path drawn) and ARC grids (their colours).
///
/// The page holds its data as JSON and draws itself with an inline script: no network access,
/// no external file. A step can be chosen with the slider, the arrow keys or a click on the
/// strip of all steps.
public struct ReasoningPage: Codable, Equatable, Sendable {
    public enum Kind: String, Codable, Sendable { case sudoku, maze, arc }

    /// A grid of cell codes: Sudoku digits (0 blank), `Maze.Cell` raw values, ARC colours 0–9.
    public struct Board: Codable, Equatable, Sendable {
        public var rows: Int
        public var columns: Int
        public var cells: [Int]
    }

    public struct Step: Codable, Equatable, Sendable {
        public var board: Board
        /// Per cell, the probability the model gives its answer (empty when not measured).
        public var confidence: [Float]
        public var qHalt: Float
        public var haltProbability: Float
        /// What the halting rule compares (positive: halt).
        public var haltMargin: Float
        public var halts: Bool
    }

    public var kind: Kind
    public var title: String
    /// The puzzle as asked.
    public var puzzle: Board
    /// ARC: the task's output when known.
    public var expected: Board?
    public var steps: [Step]
    /// The step (from 1) whose grid is the answer.
    public var answerStep: Int
    /// The Q head's first halt (from 1), if it said halt.
    public var firstHalt: Int?
    /// What the halting rule compares, e.g. "q_halt − q_continue".
    public var marginName: String
    /// The verifier's verdict, as a sentence, and whether it accepts the answer.
    public var verdict: String
    public var verified: Bool?

    /// A comment every page written here carries, by which `--force` knows its own file.
    public static let signature = "<!-- reasoning page written by hrm -->"

    /// Whether `url` holds a page written here (what `--force` may replace).
    public static func isPage(_ url: URL) -> Bool {
        guard let data = FileManager.default.contents(atPath: url.path) else { return false }
        return String(decoding: data.prefix(4096), as: UTF8.self).contains(signature)
    }

    init<P>(kind: Kind, title: String, puzzle: Board, expected: Board? = nil, solution s: Solution<P>,
            board: (P) -> Board, canvasColumns: Int, verdict: String) {
        self.kind = kind
        self.title = title
        self.puzzle = puzzle
        self.expected = expected
        steps = zip(s.steps, s.trace).map { grid, t in
            let b = board(grid)
            var confidence: [Float] = []
            if !t.confidence.isEmpty {
                for r in 0..<b.rows {
                    for c in 0..<b.columns {
                        let i = r * canvasColumns + c
                        confidence.append(i < t.confidence.count ? t.confidence[i] : 1)
                    }
                }
            }
            return Step(board: b, confidence: confidence, qHalt: t.qHalt, haltProbability: t.haltProbability,
                        haltMargin: t.haltMargin, halts: t.halts)
        }
        answerStep = s.haltStep
        firstHalt = s.trace.firstIndex(where: \.halts).map { $0 + 1 }
        marginName = s.trace.first?.halting.marginName ?? HaltingRule.haltAboveContinue.marginName
        self.verdict = verdict
        verified = s.isVerified
    }

    /// A Sudoku solve; `puzzle` is the grid as the user gave it.
    public init(sudoku puzzle: Sudoku, solution: Solution<Sudoku>, title: String = "Sudoku", verdict: String) {
        func board(_ s: Sudoku) -> Board { Board(rows: 9, columns: 9, cells: s.cells.map(Int.init)) }
        self.init(kind: .sudoku, title: title, puzzle: board(solution.askedWith ?? puzzle), solution: solution,
                  board: board, canvasColumns: 9, verdict: verdict)
    }

    /// A maze solve; `canvasSide` is the model's grid (a smaller maze sits in its top-left).
    public init(maze: Maze, solution: Solution<Maze>, canvasSide: Int, title: String = "Maze", verdict: String) {
        func board(_ m: Maze) -> Board { Board(rows: m.size, columns: m.size, cells: m.cells.map { Int($0.rawValue) }) }
        self.init(kind: .maze, title: title, puzzle: board(maze.unsolved), solution: solution, board: board,
                  canvasColumns: canvasSide, verdict: verdict)
    }

    /// An ARC test input's solve (the answer grid cropped from the 30×30 canvas).
    public init(arcInput: Grid, expected: Grid?, solution: Solution<Grid>, title: String = "ARC task", verdict: String) {
        func board(_ g: Grid) -> Board { Board(rows: g.rows, columns: g.columns, cells: g.cells.map(Int.init)) }
        self.init(kind: .arc, title: title, puzzle: board(arcInput), expected: expected.map(board), solution: solution,
                  board: board, canvasColumns: ARCEncoding.side, verdict: verdict)
    }

    /// The page: HTML with the data as JSON and the script that draws it.
    public func html() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        // Inside <script>, "</" could end the element early; JSON allows "\/" for "/".
        let json = String(decoding: try encoder.encode(self), as: UTF8.self).replacingOccurrences(of: "</", with: "<\\/")
        return """
            <!DOCTYPE html>
            \(Self.signature)
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(HTML.escape(title)) — how the model reasoned</title>
            <style>\(Self.style)</style></head>
            <body>
            <header><h1>\(HTML.escape(title))</h1><p id="verdict" class="\(verified == true ? "ok" : verified == false ? "bad" : "")">\(HTML.escape(verdict))</p></header>
            <main>
            <section id="controls"><button id="prev" type="button">◀</button>
            <input id="slider" type="range" min="1" max="\(steps.count)" value="\(answerStep)" aria-label="ACT step">
            <button id="next" type="button">▶</button> <span id="step-label"></span></section>
            <section id="boards"><figure><figcaption>puzzle</figcaption><div id="puzzle-board"></div></figure>
            <figure><figcaption id="main-caption">step</figcaption><div id="main-board"></div></figure>
            <figure id="expected-figure" hidden><figcaption>expected</figcaption><div id="expected-board"></div></figure></section>
            <section><h2>The Q head's halt signal</h2><div id="halt-chart"></div>
            <p class="note">sigmoid(q_halt) per ACT step; the halting rule compares <span id="margin-name"></span> with 0.</p></section>
            <section><h2>Every step</h2><div id="filmstrip"></div>
            <p class="note">Outlined cells changed at that step; a paler cell is one the model is less sure of.</p></section>
            </main>
            <script type="application/json" id="solve-data">\(json)</script>
            <script>\(Self.script)</script>
            </body></html>

            """
    }

    static let style = """
        body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;background:#fafafa}
        h1{font-size:1.4em;margin:0}h2{font-size:1.05em;margin:1.2em 0 .4em}
        #verdict{font-weight:600}#verdict.ok{color:#1a7f37}#verdict.bad{color:#b42318}
        #boards{display:flex;gap:2em;flex-wrap:wrap;align-items:flex-start}figure{margin:0}
        figcaption{font-size:.9em;color:#555;margin-bottom:.3em}
        .board{display:grid;gap:1px;background:#999;border:2px solid #333;width:max-content}
        .cell{display:flex;align-items:center;justify-content:center;font-weight:600;box-sizing:border-box}
        .sudoku .cell{width:34px;height:34px;font-size:19px}
        .sudoku .given{color:#000;background:#e8e8e8!important}.sudoku .guess{color:#1f4fbf}
        .sudoku .box-r{margin-right:2px}.sudoku .box-b{margin-bottom:2px}
        .maze .cell,.arc .cell{width:var(--s);height:var(--s)}
        .changed{outline:3px solid #f5a300;outline-offset:-3px}
        .strip .sudoku .cell,.strip.sudoku .cell{width:14px;height:14px;font-size:9px}
        #filmstrip{display:flex;flex-wrap:wrap;gap:.8em}.frame{cursor:pointer;padding:3px;border:2px solid transparent}
        .frame.current{border-color:#1f4fbf}.frame .label{font-size:.75em;color:#555}
        .frame.answer .label{font-weight:700;color:#1a7f37}
        #controls{margin:1em 0}#slider{width:22em;vertical-align:middle}.note{font-size:.85em;color:#555}
        svg text{font-size:11px;fill:#444}
        """

    /// Draws the boards, the strip and the chart from the JSON (no libraries).
    static let script = #"""
        "use strict";
        const D = JSON.parse(document.getElementById("solve-data").textContent);
        const ARC = ["#000000","#0074D9","#FF4136","#2ECC40","#FFDC00","#AAAAAA","#F012BE","#FF851B","#7FDBFF","#870C25"];
        const MAZE = {1:"#2b2b2b",2:"#ffffff",3:"#2ecc40",4:"#e8412c",5:"#2f6fdf"};
        const MAZE_CH = {1:"#",2:" ",3:"S",4:"G",5:"o"};
        function shade(hex, c){ // mix with white as confidence falls
          const k = 0.25 + 0.75 * c, n = parseInt(hex.slice(1), 16);
          const ch = [(n >> 16) & 255, (n >> 8) & 255, n & 255].map(v => Math.round(v * k + 255 * (1 - k)));
          return "rgb(" + ch.join(",") + ")";
        }
        // A grid of another shape than the step before (ARC) changed everywhere.
        function changedAt(prev, b, i){ return prev.rows !== b.rows || prev.columns !== b.columns || prev.cells[i] !== b.cells[i]; }
        function board(b, opts){
          const el = document.createElement("div");
          el.className = "board " + D.kind;
          el.dataset.rows = b.rows; el.dataset.columns = b.columns;
          const size = D.kind === "sudoku" ? null : Math.max(4, Math.min(28, Math.floor((opts.width || 420) / Math.max(b.rows, b.columns))));
          if (size) el.style.setProperty("--s", size + "px");
          el.style.gridTemplateColumns = "repeat(" + b.columns + ", auto)";
          for (let i = 0; i < b.cells.length; i++) {
            const v = b.cells[i], cell = document.createElement("div");
            cell.className = "cell"; cell.dataset.value = v;
            const conf = opts.confidence && opts.confidence.length ? opts.confidence[i] : 1;
            cell.dataset.confidence = conf.toFixed(3);
            if (opts.previous && changedAt(opts.previous, b, i)) cell.classList.add("changed");
            if (D.kind === "sudoku") {
              const r = Math.floor(i / 9), c = i % 9;
              if (c === 2 || c === 5) cell.classList.add("box-r");
              if (r === 2 || r === 5) cell.classList.add("box-b");
              const given = D.puzzle.cells[i] !== 0;
              cell.classList.add(given ? "given" : "guess");
              cell.textContent = v === 0 ? "" : String(v);
              cell.style.background = given ? "" : shade("#c9dbff", conf);
            } else if (D.kind === "maze") {
              cell.style.background = v === 5 ? shade(MAZE[5], conf) : (MAZE[v] || "#ff00ff");
              cell.title = MAZE_CH[v] || "?";
            } else {
              cell.style.background = shade(ARC[v] || "#ff00ff", conf);
            }
            el.appendChild(cell);
          }
          return el;
        }
        function put(id, el){ const h = document.getElementById(id); h.replaceChildren(el); }
        function chart(){
          const w = 520, h = 150, l = 40, r = 10, t = 10, bt = 24, n = D.steps.length;
          const x = k => l + (n === 1 ? (w - l - r) / 2 : (k - 1) * (w - l - r) / (n - 1));
          const y = p => t + (1 - p) * (h - t - bt);
          let s = '<svg xmlns="http://www.w3.org/2000/svg" width="' + w + '" height="' + h + '" id="halt-svg">';
          s += '<line x1="' + l + '" y1="' + y(0.5) + '" x2="' + (w - r) + '" y2="' + y(0.5) + '" stroke="#bbb" stroke-dasharray="4 3"/>';
          s += '<text x="2" y="' + (y(1) + 4) + '">1</text><text x="2" y="' + (y(0.5) + 4) + '">0.5</text><text x="2" y="' + (y(0) + 4) + '">0</text>';
          const pts = D.steps.map((st, i) => x(i + 1) + "," + y(st.haltProbability)).join(" ");
          s += '<polyline fill="none" stroke="#1f4fbf" stroke-width="2" points="' + pts + '"/>';
          D.steps.forEach((st, i) => {
            s += '<circle class="halt-point" data-step="' + (i + 1) + '" cx="' + x(i + 1) + '" cy="' + y(st.haltProbability) + '" r="' + (i + 1 === D.answerStep ? 5 : 3) + '" fill="' + (st.halts ? "#1a7f37" : "#1f4fbf") + '"><title>step ' + (i + 1) + ": " + D.marginName + " = " + st.haltMargin.toFixed(3) + '</title></circle>';
            if (n <= 20 || (i + 1) % 4 === 0) s += '<text x="' + (x(i + 1) - 3) + '" y="' + (h - 6) + '">' + (i + 1) + '</text>';
          });
          s += "</svg>";
          document.getElementById("halt-chart").innerHTML = s;
          document.getElementById("margin-name").textContent = D.marginName;
        }
        let current = D.answerStep;
        function show(k){
          current = Math.max(1, Math.min(D.steps.length, k));
          const st = D.steps[current - 1], prev = current > 1 ? D.steps[current - 2].board : null;
          put("main-board", board(st.board, {confidence: st.confidence, previous: prev}));
          const changed = prev ? st.board.cells.filter((v, i) => changedAt(prev, st.board, i)).length : 0;
          document.getElementById("main-caption").textContent = "step " + current + " of " + D.steps.length + (current === D.answerStep ? " (the answer)" : "");
          document.getElementById("step-label").textContent = D.marginName + " = " + st.haltMargin.toFixed(3) + (st.halts ? " (says halt)" : "") + ", " + changed + " cell(s) changed";
          document.getElementById("slider").value = current;
          document.querySelectorAll(".frame").forEach(f => f.classList.toggle("current", Number(f.dataset.step) === current));
        }
        put("puzzle-board", board(D.puzzle, {}));
        if (D.expected) { document.getElementById("expected-figure").hidden = false; put("expected-board", board(D.expected, {})); }
        const strip = document.getElementById("filmstrip");
        D.steps.forEach((st, i) => {
          const f = document.createElement("div");
          f.className = "frame strip" + (i + 1 === D.answerStep ? " answer" : "");
          f.dataset.step = i + 1;
          const label = document.createElement("div");
          label.className = "label"; label.textContent = "step " + (i + 1) + (i + 1 === D.answerStep ? " · answer" : "") + (st.halts ? " · halt" : "");
          f.appendChild(label);
          f.appendChild(board(st.board, {confidence: st.confidence, previous: i > 0 ? D.steps[i - 1].board : null, width: 110}));
          f.addEventListener("click", () => show(i + 1));
          strip.appendChild(f);
        });
        chart();
        document.getElementById("slider").addEventListener("input", e => show(Number(e.target.value)));
        document.getElementById("prev").addEventListener("click", () => show(current - 1));
        document.getElementById("next").addEventListener("click", () => show(current + 1));
        document.addEventListener("keydown", e => { if (e.key === "ArrowLeft") show(current - 1); if (e.key === "ArrowRight") show(current + 1); });
        show(current);
        document.body.dataset.steps = D.steps.length;
        document.body.dataset.rendered = "yes";
        """#
}

/// Escaping for text placed in HTML.
public enum HTML {
    public static func escape(_ s: String) -> String {
        var out = ""
        for ch in s {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}

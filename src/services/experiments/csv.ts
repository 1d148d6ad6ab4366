import { AppError } from "../../errors.js";

/**
 * RFC 4180 CSV as jsPsych (`jsPsych.data.get().csv()`: every field quoted), PsychoJS/Pavlovia and Prolific write it:
 * quoted fields may hold commas, doubled quotes and line breaks; CRLF or LF; a UTF-8 byte-order mark is ignored.
 * Returns the header and the records with their 1-based line numbers (the line a record starts on), so errors can
 * name the row a person sees in a spreadsheet.
 */
export interface CsvTable {
  header: string[];
  rows: { line: number; cells: Map<string, string> }[];
}

export function parseCsv(text: string, file: string): CsvTable {
  const records: { line: number; cells: string[] }[] = [];
  let field = "";
  let record: string[] = [];
  let quoted = false;
  let line = 1;
  let start = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let sawAny = false;
  const endRecord = () => {
    record.push(field);
    if (!(record.length === 1 && record[0] === "")) records.push({ line: start, cells: record });
    record = [];
    field = "";
  };
  for (; i < text.length; i++) {
    const c = text[i];
    sawAny = true;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === "\n") line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field === "") quoted = true;
    else if (c === ",") {
      record.push(field);
      field = "";
    } else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      endRecord();
      line++;
      start = line;
    } else field += c;
  }
  if (quoted) throw new AppError("BAD_USER_INPUT", `${file} row ${start}: a quoted field is not closed before the end of the file`);
  if (sawAny && (field !== "" || record.length > 0)) endRecord();
  if (records.length === 0) throw new AppError("BAD_USER_INPUT", `${file}: expected a header row and data rows, got an empty file`);
  const header = records[0].cells.map((h) => h.trim());
  const dup = header.find((h, k) => h !== "" && header.indexOf(h) !== k);
  if (dup) throw new AppError("BAD_USER_INPUT", `${file} row 1: the column '${dup}' appears twice in the header`);
  const rows = records.slice(1).map((r) => {
    if (r.cells.length !== header.length) {
      throw new AppError("BAD_USER_INPUT", `${file} row ${r.line}: expected ${header.length} fields (as in the header), got ${r.cells.length}`);
    }
    return { line: r.line, cells: new Map(header.map((h, k) => [h, r.cells[k]])) };
  });
  return { header, rows };
}

// Per-participant score tables, for the permutation tests on human and network scores (metrics and studies).

/** Participant (experiment:participant) -> stage -> score, and the stages in first-seen order. */
export function subjectTable(rows: { experiment: string; participant: string; stage: string; value: number }[]) {
  const subjects = new Map<string, Map<string, number>>();
  const stages: string[] = [];
  for (const r of rows) {
    const key = `${r.experiment}:${r.participant}`;
    (subjects.get(key) ?? subjects.set(key, new Map()).get(key)!).set(r.stage, r.value);
    if (!stages.includes(r.stage)) stages.push(r.stage);
  }
  return { subjects, stages };
}

/** Participants with a score at every stage, as rows ordered like `stages`. */
export function completeSubjects(table: ReturnType<typeof subjectTable>, stages: string[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [key, scores] of table.subjects) {
    if (stages.every((s) => scores.has(s))) out.set(key, stages.map((s) => scores.get(s)!));
  }
  return out;
}

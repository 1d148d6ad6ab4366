/** True for a unique-constraint violation (Prisma P2002), e.g. two writers racing for the same version number. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === "P2002";
}

import path from "node:path";

/** The migrated database every test database is copied from (CREATE DATABASE ... TEMPLATE). */
export const TEMPLATE_DATABASE = "metamers_template";

/** The repository's root. */
export const REPO_ROOT = path.resolve(import.meta.dirname, "../..");
/** ONNX models exported from PyTorch with reference gradients, in the shared/ folder beside the repository. */
export const AUTODIFF_FIXTURES = path.resolve(REPO_ROOT, "../shared/fixtures/autodiff");
/** The paper's released human and cross-model data, in the shared/ folder beside the repository. */
export const PAPER_DATA = path.resolve(REPO_ROOT, "../shared/paper-data");

// Starts GOV.UK Frontend's components (skip link, error summary, ...). Pages read the same
// without it.
import { initAll } from "/assets/govuk/govuk-frontend.min.js";

initAll();

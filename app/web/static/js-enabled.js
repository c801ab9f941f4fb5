// GOV.UK Frontend's styles for components that have JavaScript apply once this class is set.
document.body.className += " js-enabled" +
  ("noModule" in HTMLScriptElement.prototype ? " govuk-frontend-supported" : "");

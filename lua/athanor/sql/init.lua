-- placeholder: replaced by the expression-language work
return {}

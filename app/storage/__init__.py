"""The storage layer: documents (`models`), one repository per collection (`repositories`),
the stored states (`states`) and the process's connections (`resources`). It imports
`app.lib` only; domains import it."""

; Definitions for the workspace index. Capture the whole definition as @definition.<kind>
; and its name as @name; methods are told apart from functions by their container.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function
; Class-level attributes (enum members, dataclass / NamedTuple fields, constants): what
; `Class.NAME` and `Class(name=...)` completions need.
(class_definition
  body: (block
    (expression_statement
      (assignment left: (identifier) @name) @definition.field)))

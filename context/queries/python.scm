; Definitions for the workspace index. Capture the whole definition as @definition.<kind>
; and its name as @name; methods are told apart from functions by their container.
(class_definition name: (identifier) @name) @definition.class
(function_definition name: (identifier) @name) @definition.function

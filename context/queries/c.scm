; Function names sit inside nested declarators; the index digs them out itself.
(function_definition declarator: (_)) @definition.function
(declaration declarator: (function_declarator)) @definition.function
(declaration declarator: (pointer_declarator declarator: (function_declarator))) @definition.function
(struct_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(union_specifier name: (type_identifier) @name body: (field_declaration_list)) @definition.struct
(enum_specifier name: (type_identifier) @name body: (enumerator_list)) @definition.enum
(type_definition declarator: (type_identifier) @name) @definition.type
(preproc_function_def name: (identifier) @name) @definition.macro
